"""Local HTTP fakes of the platforms, started by the tests on 127.0.0.1."""
