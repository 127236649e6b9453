// The nRF5 interrupts tinyrig uses; the rest of the vector table is the shared Cortex-M one.
#include "hal/cortex_m/vector_table.h"
#include "hal/nrf5/nrf5_registers.h"

extern "C" void Uart0_IRQHandler();

namespace {

// nRF52840 has 48 (IRQ 0..47); the nRF51 uses the first 32.
constexpr size_t kExternalInterrupts = 48;
constexpr tinyrig::cortex_m::Irq kIrqs[] = {
    {tinyrig::nrf5::kUartIrq, Uart0_IRQHandler},
};

}  // namespace

__attribute__((section(".isr_vector"), used)) constexpr auto g_vector_table =
    tinyrig::cortex_m::MakeVectorTable<kExternalInterrupts>(kIrqs);
