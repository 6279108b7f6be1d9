import org.json.JSONObject;

class InventoryReport {

    static JSONObject summarize(String inventoryJson) {
        throw new UnsupportedOperationException("Delete this statement and write your own implementation.");
    }

}
