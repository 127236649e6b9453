"""Sans-IO codec of the tinyrig wire protocol (docs/protocol.md). No I/O happens here."""

from tinyrig.protocol.errors import (
    CobsError,
    CrcMismatchError,
    FrameError,
    LengthMismatchError,
    OversizedFrameError,
    PayloadError,
    ProtocolError,
    ShortFrameError,
    VersionMismatchError,
)
from tinyrig.protocol.frame import (
    BASELINE_MAX_PAYLOAD,
    PROTOCOL_VERSION,
    Frame,
    FrameDecoder,
    crc32,
    encode_frame,
    parse_frame,
    wire_size,
)
from tinyrig.protocol.messages import (
    Boot,
    BootReason,
    DeviceInfo,
    DeviceStats,
    ErrorCode,
    ErrorReply,
    Feature,
    GetOutput,
    Hello,
    HelloReply,
    InferReply,
    InvokeTiming,
    Log,
    MessageType,
    ModelBegin,
    ModelChunk,
    ProfileEntry,
    ProfileReply,
    SetInput,
    TensorSpec,
    TfLiteType,
    TimeUnit,
    reply_type,
)

__all__ = [
    "BASELINE_MAX_PAYLOAD", "PROTOCOL_VERSION", "Boot", "BootReason", "CobsError",
    "CrcMismatchError", "DeviceInfo", "DeviceStats", "ErrorCode", "ErrorReply", "Feature",
    "Frame", "FrameDecoder", "FrameError", "GetOutput", "Hello", "HelloReply", "InferReply",
    "InvokeTiming", "LengthMismatchError", "Log", "MessageType", "ModelBegin", "ModelChunk",
    "OversizedFrameError", "PayloadError", "ProfileEntry", "ProfileReply", "ProtocolError",
    "SetInput", "ShortFrameError", "TensorSpec", "TfLiteType", "TimeUnit", "VersionMismatchError",
    "crc32",
    "encode_frame", "parse_frame", "reply_type", "wire_size",
]
