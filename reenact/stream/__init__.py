"""The live loop: capture thread, run loop, session, live controls and the control server, and the
scripted demo."""
