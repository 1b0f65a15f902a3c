"""Fuzzing profiles. CI is derandomized so a red run is one anyone can replay; set
KUKEON_FUZZ=explore to draw fresh random inputs while developing."""

import os

from hypothesis import settings

settings.register_profile("replayable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("KUKEON_FUZZ", "replayable"))
