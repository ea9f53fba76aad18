"""takdlib: teacher-assistant knowledge distillation, reproducibly. Modules are imported by name
(`takdlib.recipes`, `takdlib.store`, ...); importing the package itself loads nothing heavy."""
