"""Derivatives of a network with respect to its inputs (Taylor mode, nested jvp), and the point view equations read them through."""
