"""CaseShield controls: the catalog, the rules that check it, and the CrossGuard policy pack built from both."""
