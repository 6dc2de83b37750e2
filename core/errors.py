class BusinessRuleViolation(Exception):
    """A request that is well-formed but breaks a rule of the business (e.g. converting a converted lead)."""
