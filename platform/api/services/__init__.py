"""Services change state; each is a plain function named <entity>_<action>."""
