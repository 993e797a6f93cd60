"""Provider simulator: the Twilio, WhatsApp Cloud API, Amazon SNS and Bird subsets carelay uses, with signed
callbacks.

Test and demo tooling: `python -m stack.simulator --port 8100 --gateway-url http://127.0.0.1:8000`.
The connectors reach it with the real SDKs; only their base URL settings differ.
"""
from stack.simulator.app import create_app
from stack.simulator.state import SimulatorConfig

__all__ = ["SimulatorConfig", "create_app"]
