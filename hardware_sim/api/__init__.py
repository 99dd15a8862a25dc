"""The simulator's typed edge: one request model per entry point, with its limits, defaults and units.

``hardware_sim.api.fab`` (etch, deposition, fab tool counts) and ``hardware_sim.api.accelerators``
(chip, system, LLM serve / train / replace). Build a request with ``Request.build(**inputs)`` — it raises
:class:`RequestRefused` with one readable :class:`Refusal` per refused field — and call ``request.run()``
for the typed result. The CLI and the dashboard do exactly that and nothing more.
"""

from hardware_sim.api._base import Refusal, RequestRefused, SimRequest, range_text

__all__ = ["Refusal", "RequestRefused", "SimRequest", "range_text"]
