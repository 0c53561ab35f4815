"""The domain: circles, séances and the floor, items, protocols, prompts, identities, roles."""
