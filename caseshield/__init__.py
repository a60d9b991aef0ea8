"""CaseShield: a zero-trust AWS blueprint for legal case management, checked against documented controls."""
