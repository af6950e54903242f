package dev.tokenwise.core.spi;

import dev.tokenwise.core.model.ModelPrice;
import java.util.Optional;

/** Looks up a model's prices. */
public interface PriceCatalog {

    /** The prices of {@code model} (the client-facing or upstream id), if known. */
    Optional<ModelPrice> find(String model);
}
