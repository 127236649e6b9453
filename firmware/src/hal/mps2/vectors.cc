// The MPS2 interrupts tinyrig uses; the rest of the vector table is the shared Cortex-M one.
#include "hal/cortex_m/vector_table.h"
#include "hal/mps2/mps2_registers.h"

extern "C" void Uart0Rx_Handler();

namespace {

constexpr size_t kExternalInterrupts = 32;  // the CMSDK peripherals of QEMU's MPS2 boards
constexpr tinyrig::cortex_m::Irq kIrqs[] = {
    {tinyrig::mps2::kUart0RxIrq, Uart0Rx_Handler},
};

}  // namespace

__attribute__((section(".isr_vector"), used)) constexpr auto g_vector_table =
    tinyrig::cortex_m::MakeVectorTable<kExternalInterrupts>(kIrqs);
