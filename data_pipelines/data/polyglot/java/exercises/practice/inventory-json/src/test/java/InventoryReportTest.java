import org.json.JSONObject;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

public class InventoryReportTest {

    private static void assertSameJson(JSONObject actual, String expected) {
        // Both sides parsed from text, so numbers have the same Java types on both.
        assertThat(new JSONObject(actual.toString()).similar(new JSONObject(expected)))
                .as("%s is %s", actual, expected)
                .isTrue();
    }

    @Test
    public void emptyInventory() {
        assertSameJson(InventoryReport.summarize("{\"items\": []}"),
                "{\"items\": 0, \"units\": 0, \"valueCents\": 0, \"lowStock\": []}");
    }

    @Disabled("Remove to run test")
    @Test
    public void countsUnitsAndValue() {
        assertSameJson(InventoryReport.summarize(
                "{\"items\": [{\"name\": \"bolt\", \"count\": 10, \"priceCents\": 25},"
                        + " {\"name\": \"nut\", \"count\": 4, \"priceCents\": 10}]}"),
                "{\"items\": 2, \"units\": 14, \"valueCents\": 290, \"lowStock\": [\"nut\"]}");
    }

    @Disabled("Remove to run test")
    @Test
    public void lowStockIsSorted() {
        assertSameJson(InventoryReport.summarize(
                "{\"items\": [{\"name\": \"washer\", \"count\": 0, \"priceCents\": 3},"
                        + " {\"name\": \"gear\", \"count\": 1, \"priceCents\": 400},"
                        + " {\"name\": \"spring\", \"count\": 5, \"priceCents\": 12}]}"),
                "{\"items\": 3, \"units\": 6, \"valueCents\": 460, \"lowStock\": [\"gear\", \"washer\"]}");
    }

    @Disabled("Remove to run test")
    @Test
    public void largeValuesDoNotOverflowAnInt() {
        assertSameJson(InventoryReport.summarize(
                "{\"items\": [{\"name\": \"ingot\", \"count\": 3000000, \"priceCents\": 100000}]}"),
                "{\"items\": 1, \"units\": 3000000, \"valueCents\": 300000000000, \"lowStock\": []}");
    }

    @Disabled("Remove to run test")
    @Test
    public void inputWithoutItemsIsInvalid() {
        assertThatThrownBy(() -> InventoryReport.summarize("{\"goods\": []}"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> InventoryReport.summarize("[1, 2]"))
                .isInstanceOf(IllegalArgumentException.class);
    }

}
