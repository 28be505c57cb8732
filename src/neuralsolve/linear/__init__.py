"""Learned and classical solvers for families of sparse linear systems."""
