"""Renderers: pure functions from result records to text, JSON and the CI/LMS formats."""
