"""The effects.csv columns the analyses read, in a module that imports nothing heavy.

The checkpoint split_effects copies only these columns into the shard files; importing
them from analyses.py would load pandas and scipy (1.6 s) into a job that splits a CSV.
"""

# Text columns, read as text (never as numbers).
TEXT_COLUMNS = [
    "study",
    "effect_id",
    "sample",
    "theme",
    "outcome",
    "measure",
    "construct",
    "role",
    "design",
    "country",
]
# "moderators": the effect's moderators as a JSON object (effects.csv); optional.
INPUT_COLUMNS = [*TEXT_COLUMNS, "yi", "vi", "n", "moderators"]
