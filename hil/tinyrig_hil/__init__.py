"""Hardware-in-the-loop support for pytest: ``--device URL`` and the ``tinyrig_device``
fixture, installed as a pytest plugin with tinyrig."""
