"""The language bridge: machine translation, voice transcripts, reply templates and the
languages staff read, so that any staff member can help any resident.

- `translation.py`: a LibreTranslate client and the cached `Translator`;
- `transcription.py`: an OpenAI-compatible speech-to-text client;
- `languages.py`: our language codes and the services' codes, in one table;
- `templates.py`: reply templates (TOML) and picking a resident's text;
- `readers.py`: `/languages` in the staff chat and the case header line naming the readers.

Every outside call returns a value (a result or a failure with its reason), never an
exception, so a message is relayed at once whether or not the bridge is up.
"""
