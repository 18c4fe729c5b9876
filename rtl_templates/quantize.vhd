-- quantize: y = wrap(floor(v / 2**D), WO bits), v = a, -a (NEG /= 0), then max(v, 0) if RELU /= 0.
--
-- Truncation toward -inf of a two's-complement value is dropping its low D bits, and wrapping
-- is keeping the next WO bits, so after one exact negation this is pure bit selection. a is
-- sign- (SA /= 0) or zero-extended to a width above WA + 1 and D + WO first, so the negation
-- of the most negative value is exact and every selected bit exists. SO only documents how y
-- is read. Same parameters and semantics as quantize.v.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity quantize is
    generic (
        WA   : positive := 8;  -- width of a
        SA   : natural  := 1;  -- a is signed
        D    : natural  := 0;  -- low bits dropped (operand step / output step = 2**D)
        NEG  : natural  := 0;  -- quantize -a instead of a
        RELU : natural  := 0;  -- clamp negative values to zero before quantizing
        WO   : positive := 8;  -- width of y
        SO   : natural  := 1   -- y is read as signed (bit pattern does not depend on it)
    );
    port (
        a : in  std_logic_vector(WA - 1 downto 0);
        y : out std_logic_vector(WO - 1 downto 0)
    );
end entity quantize;

architecture rtl of quantize is
    constant WI : positive := maximum(WA + 1, D + WO) + 1;
begin
    calc: process (a)
        variable v : unsigned(WI - 1 downto 0);
    begin
        if SA /= 0 then v := unsigned(resize(signed(a), WI)); else v := resize(unsigned(a), WI); end if;
        if NEG /= 0 then
            v := to_unsigned(0, WI) - v;
        end if;
        if RELU /= 0 and v(WI - 1) = '1' then
            v := to_unsigned(0, WI);
        end if;
        y <= std_logic_vector(v(D + WO - 1 downto D));
    end process calc;
end architecture rtl;
