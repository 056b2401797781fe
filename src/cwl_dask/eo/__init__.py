"""Earth-Observation specifics: STAC outputs (find, check, rebase, collections),
wrapping a package with stage-in/stage-out as platforms do, the staging tools.
"""
