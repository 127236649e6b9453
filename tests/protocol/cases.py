"""The messages whose exact wire bytes are pinned in golden/frames.json."""

from __future__ import annotations

from tinyrig.protocol import (
    PROTOCOL_VERSION,
    DeviceInfo,
    DeviceStats,
    ErrorCode,
    ErrorReply,
    Feature,
    Frame,
    GetOutput,
    Hello,
    HelloReply,
    InvokeTiming,
    KernelSet,
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
from tinyrig.protocol.tensor_read import ReadTensor, TensorChunk

INFO = DeviceInfo(
    protocol_version=PROTOCOL_VERSION, features=Feature.PROFILE, max_payload=4096,
    cpu_hz=25_000_000, tick_hz=25_000_000, tick_unit=TimeUnit.TICKS, arena_size=2048,
    arena_used=1404,
    model_size=2704,
    model_crc32=0x1A2B3C4D, model_id=bytes.fromhex("505ee4fa0011aabb"),
    model_status=ErrorCode.OK, firmware="0.1.0", board="mps2-an386", tflm="90b983c",
    kernels=KernelSet.CMSIS_NN,
    inputs=(TensorSpec(TfLiteType.INT8, (1, 1), 0.02457300014793873, -128, 1),),
    outputs=(TensorSpec(TfLiteType.INT8, (1, 1), 0.008472000248730183, 4, 1),),
)


def golden_frames() -> dict[str, Frame]:
    return {
        "hello": Frame(MessageType.HELLO, 1, Hello(0x12345678).encode()),
        "hello_reply": Frame(reply_type(MessageType.HELLO), 1,
                             HelloReply(0x12345678, INFO).encode()),
        "info": Frame(MessageType.INFO, 2),
        "ping_zeros": Frame(MessageType.PING, 3, bytes([0, 1, 0, 0, 2, 0])),
        "set_input": Frame(MessageType.SET_INPUT, 4, SetInput(0, 0, bytes([0xA0, 0xC1])).encode()),
        "invoke_reply": Frame(reply_type(MessageType.INVOKE), 5,
                              InvokeTiming(5_000_000_123, 200_000_004).encode()),
        "get_output": Frame(MessageType.GET_OUTPUT, 6, GetOutput(0, 0, 1).encode()),
        "infer": Frame(MessageType.INFER, 7, bytes([0xA0])),
        "infer_reply": Frame(reply_type(MessageType.INFER), 7,
                             InvokeTiming(9_000, 360).encode() + bytes([0x7F])),
        "profile_reply": Frame(reply_type(MessageType.PROFILE), 8, ProfileReply(
            2, (ProfileEntry("FULLY_CONNECTED", 812), ProfileEntry("FULLY_CONNECTED", 640)),
        ).encode()),
        "stats_reply": Frame(reply_type(MessageType.STATS), 9,
                             DeviceStats(1500, 10, 10, 1, 0, 0, 3, 1, 5_000_000_000).encode()),
        "error": Frame(MessageType.ERROR, 10,
                       ErrorReply(ErrorCode.ARENA_TOO_SMALL, MessageType.INVOKE, 2300,
                                  "arena").encode()),
        "model_begin": Frame(MessageType.MODEL_BEGIN, 11,
                             ModelBegin(2704, 0xDEADBEEF, bytes(range(8))).encode()),
        "model_chunk_300": Frame(MessageType.MODEL_CHUNK, 12,
                                 ModelChunk(0, bytes((i * 7 + 1) % 256 for i in range(300)))
                                 .encode()),
        "boot": Frame(MessageType.BOOT, 0, bytes([0])),
        "link_test": Frame(MessageType.LINK_TEST, 13, (65536).to_bytes(4, "little")),
        "arena_limit": Frame(MessageType.ARENA_LIMIT, 14, (1040).to_bytes(4, "little")),
        "read_tensor": Frame(MessageType.READ_TENSOR, 15, ReadTensor(7, 0, 4096).encode()),
        "read_tensor_reply": Frame(reply_type(MessageType.READ_TENSOR), 15,
                                   TensorChunk(TfLiteType.INT8, (1, 4), 4,
                                               bytes([0x80, 0xFF, 0x00, 0x7F])).encode()),
        "invoke_delay": Frame(MessageType.INVOKE_DELAY, 16, (2600).to_bytes(4, "little")),
        "state_keep": Frame(MessageType.STATE, 17, bytes([1])),
        "state_reply": Frame(reply_type(MessageType.STATE), 17),
    }
