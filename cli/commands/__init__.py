"""One module per topic; each exports COMMANDS, registered on the root group by cli.main."""
