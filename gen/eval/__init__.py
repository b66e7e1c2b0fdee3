"""Evaluation: sample-quality metrics, feature extractors, 2D mixture coverage."""
