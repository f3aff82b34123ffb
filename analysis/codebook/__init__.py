"""The codebook: the single source of words, measures and number formats."""
