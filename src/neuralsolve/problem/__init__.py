"""Problems: domains, fields, equations parsed from SymPy syntax and compiled to JAX, conditions, eigen settings."""
