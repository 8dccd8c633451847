"""What each `s1kit` subcommand does, one module per stage: a handler maps its flags (s1kit.cli.args) onto
the stage functions. s1kit.cli.commands names each handler as "module:function", so a command imports only
its own stage."""
