import collections


def tally(text):
    words = []
    current = []
    for char in text + " ":
        if char.isalnum():
            current.append(char)
        elif current:
            words.append("".join(current).lower())
            current = []
    counts = collections.Counter(words)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
