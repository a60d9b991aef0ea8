"""CaseShield components: one pulumi.ComponentResource per capability."""
