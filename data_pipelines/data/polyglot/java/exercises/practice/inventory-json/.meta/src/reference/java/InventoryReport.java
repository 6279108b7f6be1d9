import org.json.JSONArray;
import org.json.JSONException;
import org.json.JSONObject;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

class InventoryReport {

    static JSONObject summarize(String inventoryJson) {
        JSONArray items;
        try {
            items = new JSONObject(inventoryJson).getJSONArray("items");
        } catch (JSONException e) {
            throw new IllegalArgumentException("not an inventory: " + e.getMessage(), e);
        }
        long units = 0;
        long valueCents = 0;
        List<String> lowStock = new ArrayList<>();
        for (int i = 0; i < items.length(); i++) {
            JSONObject item = items.getJSONObject(i);
            long count = item.getLong("count");
            units += count;
            valueCents += count * item.getLong("priceCents");
            if (count < 5) {
                lowStock.add(item.getString("name"));
            }
        }
        Collections.sort(lowStock);
        return new JSONObject()
                .put("items", items.length())
                .put("units", units)
                .put("valueCents", valueCents)
                .put("lowStock", new JSONArray(lowStock));
    }

}
