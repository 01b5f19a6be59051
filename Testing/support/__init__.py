"""Test helpers: real-data paths, synthetic CT builders, classifier cohorts, tiny models, Slicer stand-ins."""
