"""Validation of incoming documents: findings with a rule id, a severity and a location."""
