// The STM32F4 interrupts tinyrig uses; the rest of the vector table is the shared Cortex-M one.
#include "hal/cortex_m/vector_table.h"
#include "hal/stm32f4/stm32f4_registers.h"

extern "C" void Tim2_IRQHandler();
extern "C" void Usart2_IRQHandler();

namespace {

// STM32F446 has the most (97, IRQ 0..96) of the supported chips; unused entries are harmless.
constexpr size_t kExternalInterrupts = 97;
constexpr tinyrig::cortex_m::Irq kIrqs[] = {
    {tinyrig::stm32f4::kTim2Irq, Tim2_IRQHandler},
    {tinyrig::stm32f4::kUsart2Irq, Usart2_IRQHandler},
};

}  // namespace

__attribute__((section(".isr_vector"), used)) constexpr auto g_vector_table =
    tinyrig::cortex_m::MakeVectorTable<kExternalInterrupts>(kIrqs);
