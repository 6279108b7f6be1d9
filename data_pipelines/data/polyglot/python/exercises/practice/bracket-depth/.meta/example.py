PAIRS = {")": "(", "]": "[", "}": "{"}


def max_depth(text):
    open_brackets = []
    deepest = 0
    for char in text:
        if char in "([{":
            open_brackets.append(char)
            deepest = max(deepest, len(open_brackets))
        elif char in PAIRS:
            if not open_brackets or open_brackets.pop() != PAIRS[char]:
                raise ValueError("unbalanced brackets")
    if open_brackets:
        raise ValueError("unbalanced brackets")
    return deepest
