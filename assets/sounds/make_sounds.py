#!/usr/bin/env python3
"""Synthesises the demo's short sound effects (mono 16-bit WAV, 22.05 kHz)."""
import math
import random
import struct
import wave

R = 22050


def write(name, samples):
    w = wave.open(name, "wb")
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(R)
    w.writeframes(b"".join(struct.pack("<h", max(-32767, min(32767, int(s * 32767)))) for s in samples))
    w.close()


def times(seconds):
    return (i / R for i in range(int(R * seconds)))


rnd = random.Random(1)
write("bump.wav", [(math.sin(2 * math.pi * (140 - 80 * t / 0.12) * t) * 0.8 + (rnd.random() - 0.5) * 0.3 * math.exp(-t * 60)) * math.exp(-t * 25) for t in times(0.14)])
write("fall.wav", [math.sin(2 * math.pi * (900 - 700 * t / 0.5) * t) * 0.35 * (1 - t / 0.5) for t in times(0.5)])
write("beep.wav", [math.sin(2 * math.pi * 660 * t) * 0.3 * min(1, (0.09 - t) * 80) for t in times(0.09)])
write("go.wav", [(math.sin(2 * math.pi * 990 * t) + 0.5 * math.sin(2 * math.pi * 1485 * t)) * 0.22 * min(1, (0.25 - t) * 20) for t in times(0.25)])
win = []
for f in [523, 659, 784, 1046]:
    win += [math.sin(2 * math.pi * f * t) * 0.3 * math.exp(-t * 6) for t in times(0.15)]
write("win.wav", win)
