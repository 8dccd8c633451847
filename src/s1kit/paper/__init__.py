"""Paper stage: claims registry, tables, figures and the claims report (`s1kit paper`)."""

from s1kit.paper.claims import Claim, ClaimError, load_claims, resolve_field

__all__ = ["Claim", "ClaimError", "load_claims", "resolve_field"]
