# The cat gadget, started by the firmware at power-on (after boot.py). A key on the console within
# a second of start-up skips this and leaves the REPL; Ctrl-C stops the app (docs/app.md).
import app

app.run()
