def tally(text):
    pass
