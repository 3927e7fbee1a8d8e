"""Media stage: probe and decode files into normalised audio and frames (ffmpeg only here)."""

from avm.media.decode import (
                              DecodedMedia,
                              DecodeOptions,
                              Span,
                              decode,
                              decode_audio,
                              decode_frames,
                              decode_still,
                              remove_black_bars,
)
from avm.media.errors import MediaError
from avm.media.hashing import content_hash
from avm.media.pieces import decode_pieces, is_long
from avm.media.probe import MEDIA_FORMATS, MediaInfo, StreamInfo, probe
from avm.media.tools import ffmpeg_exe

__all__ = ["MEDIA_FORMATS", "DecodedMedia", "DecodeOptions", "MediaError", "MediaInfo", "Span", "StreamInfo",
           "content_hash", "decode", "decode_audio", "decode_frames", "decode_pieces", "decode_still", "ffmpeg_exe",
           "is_long", "probe", "remove_black_bars"]
