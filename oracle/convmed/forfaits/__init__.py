"""Forfaits, aids and bonuses: annual or periodic remunerations computed from a doctor
profile, per-scheme inputs and (for some schemes) a patientèle read as a stream.

`compute(input, spec=None)` dispatches on `input["scheme"]` to the scheme file
`spec/forfaits/<scheme>/scheme.yaml`, whose `formula` names a formula kind registered
by a module of `convmed.forfaits.schemes` (one module per scheme; adding a module there
is enough to register it).
"""

from convmed.forfaits.engine import compute  # noqa: F401
from convmed.forfaits.registry import formula, formulas  # noqa: F401
