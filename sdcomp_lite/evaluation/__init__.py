"""Task evaluation: reference codecs, rate points and (later) task metrics against rate."""
