"""What the person set, and where the tool keeps its files.

config          the Settings value, read from flags, environment, the settings file and a profile, in that order
settings_file   the settings file (`config.toml`) and its profiles: the one owner of its format
settings_table  every setting's name, type, default and help, the one table `interpreter config` prints
directories     the home the tool keeps its files in, and the working directory code runs in

May import `errors`, `trust` and `resilience.shared.setting` (the store setting, parsed with the others and light
so that reading settings imports no store); nothing else of the tool.
"""
