"""Inspection plans, SPC rules, triggers and hot reload of rule sets."""
