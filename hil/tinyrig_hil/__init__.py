"""Hardware-in-the-loop support: the pytest plugin (``--tinyrig-device URL``, the ``hil``
marker, ``tinyrig_device``/``tinyrig_reference``/``tinyrig_validate`` fixtures) and rig files
(``tinyrig rig run RIG.toml``), installed with tinyrig."""
