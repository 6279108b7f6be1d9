def merge(intervals):
    pass
