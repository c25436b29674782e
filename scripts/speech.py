"""Speech: clips played back to back through a sample sink, streamed in bounded memory.

The sink is any object with write(buf, n) taking n 8-bit unsigned samples at wav.RATE (the DAC
on the board, a WAV file on the host). Memory: one fixed buffer of BUF bytes, whatever the clip
lengths.
"""
import wav

BUF = 512  # one SD sector


def speak(paths, sink, buf=None, log=print):
    """Plays each clip; a clip that fails mid-way is reported and skipped. -> samples played."""
    if buf is None:
        buf = bytearray(BUF)
    total = 0
    for path in paths:
        try:
            r = wav.WavReader(path)
        except wav.WavError as e:
            log("speech: skipped: %s" % e)
            continue
        try:
            while True:
                n = r.read_into(buf)
                if not n:
                    break
                sink.write(buf, n)
                total += n
        except (wav.WavError, OSError) as e:
            log("speech: cut short: %s" % e)
        finally:
            r.close()
    return total
