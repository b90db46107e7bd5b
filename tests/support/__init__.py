"""Test helpers: local stand-ins for the services claimbot talks to."""
