"""What the physics-informed (collocation) method families share: their settings, the model
(network through the trial function), training one network on a problem, and measuring a
solution against its reference. Nothing here imports a method family (see docs/architecture.md).
"""
