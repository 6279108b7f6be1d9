import java.util.ArrayDeque;
import java.util.Deque;

class BracketDepth {

    static int maxDepth(String text) {
        Deque<Character> open = new ArrayDeque<>();
        int deepest = 0;
        for (char c : text.toCharArray()) {
            if (c == '(' || c == '[' || c == '{') {
                open.push(c);
                deepest = Math.max(deepest, open.size());
            } else if (c == ')' || c == ']' || c == '}') {
                char expected = c == ')' ? '(' : c == ']' ? '[' : '{';
                if (open.isEmpty() || open.pop() != expected) {
                    throw new IllegalArgumentException("unbalanced brackets");
                }
            }
        }
        if (!open.isEmpty()) {
            throw new IllegalArgumentException("unbalanced brackets");
        }
        return deepest;
    }

}
